#include "tensor/dtype.h"

#include <strings.h>

#include "base/error.h"

namespace r1 {
namespace {

struct Entry {
    int32_t id;
    DTypeInfo info;
};

// Sizes from ggml-common.h's static asserts (see ../shared spec §2).
constexpr Entry kTypes[] = {
    {0, {"f32", 1, 4, true}},        {1, {"f16", 1, 2, true}},        {2, {"q4_0", 32, 18, true}},
    {3, {"q4_1", 32, 20, true}},     {6, {"q5_0", 32, 22, true}},     {7, {"q5_1", 32, 24, true}},
    {8, {"q8_0", 32, 34, true}},     {9, {"q8_1", 32, 36, false}},    {10, {"q2_K", 256, 84, true}},
    {11, {"q3_K", 256, 110, true}},  {12, {"q4_K", 256, 144, true}},  {13, {"q5_K", 256, 176, true}},
    {14, {"q6_K", 256, 210, true}},  {15, {"q8_K", 256, 292, false}}, {20, {"iq4_nl", 32, 18, true}},
    {24, {"i8", 1, 1, false}},       {25, {"i16", 1, 2, false}},      {26, {"i32", 1, 4, false}},
    {27, {"i64", 1, 8, false}},      {28, {"f64", 1, 8, false}},      {30, {"bf16", 1, 2, true}},
    {1000, {"f8_e4m3", 1, 1, true}},
};

}  // namespace

const DTypeInfo* dtype_info_or_null(int32_t id) {
    for (const auto& e : kTypes)
        if (e.id == id) return &e.info;
    return nullptr;
}

const DTypeInfo& dtype_info(DType t) {
    const DTypeInfo* info = dtype_info_or_null(static_cast<int32_t>(t));
    R1_ASSERT(info != nullptr, "unknown dtype %d", static_cast<int>(t));
    return *info;
}

bool dtype_from_name(const std::string& name, DType* out) {
    for (const auto& e : kTypes) {
        if (strcasecmp(e.info.name, name.c_str()) == 0) {
            *out = static_cast<DType>(e.id);
            return true;
        }
    }
    return false;
}

size_t row_bytes(DType t, int64_t n) {
    const DTypeInfo& info = dtype_info(t);
    R1_ASSERT(n % info.block_size == 0, "row of %lld elements is not a multiple of the %s block (%d)",
              static_cast<long long>(n), info.name, info.block_size);
    return static_cast<size_t>(n / info.block_size) * static_cast<size_t>(info.block_bytes);
}

}  // namespace r1
