// Writes quantisation goldens made by ggml's own reference code (libggml-base.so from the npm package
// @node-llama-cpp/linux-x64, see make-goldens.sh). For each type, <out>/<type>.bin holds:
//   char magic[4] = "R1QG"; uint32 ggml_type, nq, nr;
//   float  in[nq]                 deterministic test input (mixed scales, outliers, zero and constant blocks)
//   uint8  q[row_size(nq)]        ggml_quantize_chunk(type, in)   (from_float_ref for Q8_K)
//   float  deq[nq]                ggml to_float(q)
//   uint8  rb[row_size(nr)]       random blocks (finite random f16 scales)
//   float  rdeq[nr]               ggml to_float(rb)
// all little-endian. Our tests require identical bytes from quantize_row and bit-identical dequantize_row.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

// Q8_K has no entries in ggml's type-traits table; libggml-base.so exports its reference functions (from the
// internal header ggml-quants.h; the block is passed as void*).
void quantize_row_q8_K_ref(const float* x, void* y, int64_t k);
void dequantize_row_q8_K(const void* x, float* y, int64_t k);

static uint64_t rng_state = 0x5eed1234abcdull;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float uniform(void) {  // [-1, 1)
    return (float)((int32_t)(next_u64() >> 40) - (1 << 23)) / (float)(1 << 23);
}
static float bell(void) {  // roughly normal, sum of 4 uniforms
    return (uniform() + uniform() + uniform() + uniform()) * 0.8660254f;
}

// 32-element block b of the input: a different regime per block.
static void fill_block(float* x, int b) {
    const float scales[7] = {1e-3f, 1e-2f, 0.1f, 1.0f, 3.0f, 20.0f, 0.05f};
    float s = scales[b % 7];
    for (int j = 0; j < 32; j++) x[j] = s * bell();
    switch (b) {
        case 3:
            memset(x, 0, 32 * sizeof(float));
            break;  // all zero
        case 5:
            for (int j = 0; j < 32; j++) x[j] = 0.5f;
            break;  // constant
        case 9:
            x[17] = 100.0f * s;
            break;  // one outlier
        case 12:
            for (int j = 0; j < 32; j++) x[j] = fabsf(x[j]) + 0.2f;
            break;  // all positive
        case 13:
            for (int j = 0; j < 32; j++) x[j] = -fabsf(x[j]) - 0.1f;
            break;  // all negative
        case 17:
            for (int j = 0; j < 32; j++) x[j] *= 1e-4f;
            break;  // f16-subnormal scales
        case 20:
            for (int j = 0; j < 32; j++) x[j] = (j * 7 % 3) - 1.0f;
            break;  // exact -1, 0, 1
        case 25:
            for (int j = 0; j < 32; j++) x[j] *= 300.0f;
            break;  // large
        case 28:
            x[0] = -8.0f * s;
            x[31] = 8.0f * s;
            break;  // ties in max magnitude
        default:
            break;
    }
}

// Byte offsets of the f16 scale fields in a block, so random blocks get finite scales.
static int f16_fields(enum ggml_type t, int* off) {
    switch (t) {
        case GGML_TYPE_Q4_0:
        case GGML_TYPE_Q5_0:
        case GGML_TYPE_Q8_0:
        case GGML_TYPE_IQ4_NL:
            off[0] = 0;
            return 1;
        case GGML_TYPE_Q4_1:
        case GGML_TYPE_Q5_1:
        case GGML_TYPE_Q4_K:
        case GGML_TYPE_Q5_K:
            off[0] = 0;
            off[1] = 2;
            return 2;
        case GGML_TYPE_Q2_K:
            off[0] = 80;
            off[1] = 82;
            return 2;
        case GGML_TYPE_Q3_K:
            off[0] = 108;
            return 1;
        case GGML_TYPE_Q6_K:
            off[0] = 208;
            return 1;
        default:
            return 0;
    }
}

static void write_or_die(FILE* f, const void* p, size_t n) {
    if (fwrite(p, 1, n, f) != n) {
        perror("fwrite");
        exit(1);
    }
}

static void make(const char* dir, enum ggml_type t, int nq, int nr) {
    const struct ggml_type_traits* tr = ggml_get_type_traits(t);
    size_t qbytes = ggml_row_size(t, nq), rbytes = ggml_row_size(t, nr);
    float* in = calloc(nq, sizeof(float));
    float* deq = calloc(nq, sizeof(float));
    float* rdeq = calloc(nr ? nr : 1, sizeof(float));
    uint8_t* q = calloc(qbytes, 1);
    uint8_t* rb = calloc(rbytes ? rbytes : 1, 1);
    for (int b = 0; b < nq / 32; b++) fill_block(in + 32 * b, b);
    ggml_to_float_t to_float = t == GGML_TYPE_Q8_K ? (ggml_to_float_t)dequantize_row_q8_K : tr->to_float;
    if (t == GGML_TYPE_Q8_K)
        quantize_row_q8_K_ref(in, q, nq);
    else
        ggml_quantize_chunk(t, in, q, 0, 1, nq, NULL);
    to_float(q, deq, nq);

    int off[2];
    int nf = f16_fields(t, off);
    for (size_t i = 0; i < rbytes; i++) rb[i] = (uint8_t)next_u64();
    if (t == GGML_TYPE_F16 || t == GGML_TYPE_BF16) {
        // random 16-bit patterns, but no NaN/Inf (so the golden compares by value)
        for (size_t i = 0; i < rbytes; i += 2) {
            float v =
                uniform() * (t == GGML_TYPE_F16 ? 60000.0f : 1e30f) * powf(10.0f, -8.0f * fabsf(uniform()));
            uint16_t h = t == GGML_TYPE_F16 ? ggml_fp32_to_fp16(v) : ggml_fp32_to_bf16(v).bits;
            memcpy(rb + i, &h, 2);
        }
    } else if (t == GGML_TYPE_Q8_K) {
        for (size_t i = 0; i < rbytes; i += tr->type_size) {
            float d = uniform() * 0.01f;
            memcpy(rb + i, &d, 4);
        }
    } else {
        for (size_t i = 0; i < rbytes; i += tr->type_size) {
            for (int k = 0; k < nf; k++) {
                ggml_fp16_t h = ggml_fp32_to_fp16(uniform() * 0.05f);
                memcpy(rb + i + off[k], &h, 2);
            }
        }
    }
    if (nr) to_float(rb, rdeq, nr);

    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, ggml_type_name(t));
    FILE* f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint32_t hdr[3] = {(uint32_t)t, (uint32_t)nq, (uint32_t)nr};
    write_or_die(f, "R1QG", 4);
    write_or_die(f, hdr, sizeof hdr);
    write_or_die(f, in, nq * sizeof(float));
    write_or_die(f, q, qbytes);
    write_or_die(f, deq, nq * sizeof(float));
    write_or_die(f, rb, rbytes);
    write_or_die(f, rdeq, nr * sizeof(float));
    fclose(f);
    printf("%-8s %6d + %4d elements -> %s\n", ggml_type_name(t), nq, nr, path);
    free(in), free(deq), free(rdeq), free(q), free(rb);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
        return 2;
    }
    const enum ggml_type types[] = {GGML_TYPE_F16,  GGML_TYPE_BF16,  GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
                                    GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,  GGML_TYPE_Q8_0, GGML_TYPE_Q2_K,
                                    GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,  GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
                                    GGML_TYPE_Q8_K, GGML_TYPE_IQ4_NL};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int nq = 1024, nr = (types[i] == GGML_TYPE_F16 || types[i] == GGML_TYPE_BF16) ? 256 : 512;
        make(argv[1], types[i], nq, nr);
    }
    return 0;
}
