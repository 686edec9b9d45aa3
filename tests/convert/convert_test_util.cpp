#include "convert/convert_test_util.h"

#include "tensor/quant.h"

namespace r1::test {

Converted write_and_convert(const TinyCheckpoint& ck, const ScratchDir& scratch, const std::string& tag,
                            ConvertOptions opt) {
    const std::string dir = scratch.file(tag), out = scratch.file(tag + ".gguf");
    ck.write(dir);
    Converted c;
    c.path = out;
    c.result = convert_hf_to_gguf(dir, out, opt);
    c.file = gguf::File::open(out);
    return c;
}

const TensorRef& gguf_tensor(const gguf::File& f, const std::string& name) {
    const TensorRef* t = f.find_tensor(name);
    if (!t) throw std::runtime_error("GGUF has no tensor " + name);
    return *t;
}

std::vector<float> gguf_f32(const gguf::File& f, const std::string& name) {
    const TensorRef& t = gguf_tensor(f, name);
    std::vector<float> out(static_cast<size_t>(t.numel()));
    for (int64_t r = 0; r < t.rows(); ++r)
        dequantize_row(t.type, t.data + static_cast<size_t>(r) * t.row_stride(), out.data() + r * t.cols(),
                       t.cols());
    return out;
}

}  // namespace r1::test
