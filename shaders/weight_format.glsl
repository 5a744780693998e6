// The one dequantization interface that weight-reading kernels call for quantized weights
// (variants generated per format of host/formats/registry.h, compiled with -DWEIGHT_QUANT).
//
// Device layout (host/formats.h): a tensor's blocks of FORMAT_BLOCK values are split into a
// quants plane (FORMAT_QUANT_VECS 16-byte vectors a block, from vector 0) and a meta plane
// (FORMAT_META_BYTES a block: scales, minimums, high bits) that starts right after it, at 32-bit
// word weight_meta_base(blocks). A kernel steps through a row FORMAT_UNIT values at a time (a
// block, or a fixed part of one): unit g of the tensor (row r, step i: g = r * K / FORMAT_UNIT +
// i) has its meta fetched with format_meta() into a weight_meta, which also holds the meta of
// the other units of g's group of FORMAT_META_GROUP (whole groups: g / FORMAT_META_GROUP), then
// is loaded with format_load() into a weight_unit, whose values 4j .. 4j + 3 come out of
// format_vec4(unit, j) for j < FORMAT_UNIT / 4, each as host/formats/<name>.c's dequantize()
// computes it (to within its dequant_ulps). A format file defines FORMAT_BLOCK, FORMAT_UNIT,
// FORMAT_QUANT_VECS, FORMAT_META_BYTES, FORMAT_META_GROUP, the two structs, format_meta() and
// format_load(), and either format_vec4() or, for a symmetric format, FORMAT_SUB, format_qvec4()
// and format_scale() (below).
//
// Before including this, the kernel defines uvec4 load_weight(uint set, uint v): 16-byte vector
// v of weight matrix `set` (a storage buffer or a texel buffer).
#ifndef WEIGHT_FORMAT_GLSL
#define WEIGHT_FORMAT_GLSL

// Byte `b` (0 .. 3) of a word, and four bytes of a word as a vector.
uint word_byte(uint w, uint b) { return (w >> (8u * b)) & 0xFFu; }
uvec4 word_bytes(uint w) { return uvec4(w, w >> 8u, w >> 16u, w >> 24u) & 0xFFu; }
// The four nibbles at bit `shift` of each byte (shift 0: low nibbles, 4: high).
uvec4 word_nibbles(uint w, uint shift) { return uvec4(w >> shift, w >> (shift + 8u), w >> (shift + 16u), w >> (shift + 24u)) & 15u; }

// Word k (0 .. 3) of a vector, and f16 k (0 .. 7) of the 8 it packs: a unit's scales in the meta
// plane. Picked by selects on k's bits: a computed index into a vector array, different in each
// invocation, became per-lane scalar code in llvmpipe.
uint vec_word(uvec4 v, uint k)
{
    uvec2 pair = (k & 2u) == 0u ? v.xy : v.zw;
    return (k & 1u) == 0u ? pair.x : pair.y;
}
float vec_half(uvec4 v, uint k)
{
    vec2 pair = unpackHalf2x16(vec_word(v, k / 2u));
    return (k & 1u) == 0u ? pair.x : pair.y;
}

// Shared by the K-quants. ggml's get_scale_min_k4 (Q4_K, Q5_K): sub-block j's 6-bit scale and
// minimum from the 12 packed scale bytes in words s.x, s.y, s.z.
uint k4_scale_byte(uvec3 s, uint k) { return word_byte(s[k / 4u], k % 4u); }
uvec2 k4_scale_min(uvec3 s, uint j)
{
    if (j < 4u) return uvec2(k4_scale_byte(s, j) & 63u, k4_scale_byte(s, j + 4u) & 63u);
    return uvec2((k4_scale_byte(s, j + 4u) & 15u) | ((k4_scale_byte(s, j - 4u) >> 6u) << 4u),
                 (k4_scale_byte(s, j + 4u) >> 4u) | ((k4_scale_byte(s, j) >> 6u) << 4u));
}

#include "weight_format_impl.glsl"

#ifdef FORMAT_SUB
// Symmetric formats (value = scale q) give their values as the integer-valued quants of
// format_qvec4(unit, j) and the scale of each sub-block of FORMAT_SUB values, format_scale(unit,
// s), so that a dot product can multiply by the scale once a sub-block (matmul_gemv.comp). The
// product is exact (host/formats.h), so this is dequantize()'s value.
vec4 format_vec4(weight_unit u, uint j) { return format_scale(u, 4u * j / FORMAT_SUB) * format_qvec4(u, j); }
#endif

// The meta plane's first word in a tensor of `blocks` blocks (a whole 16-byte vector).
uint weight_meta_base(uint blocks) { return blocks * FORMAT_QUANT_VECS * 4u; }

// Unit g on its own (its meta fetched for it alone).
weight_unit format_load_unit(uint set, uint meta_base, uint g) { return format_load(set, format_meta(set, meta_base, g), g); }

#endif
