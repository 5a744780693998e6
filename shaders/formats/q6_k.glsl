// Q6_K (host/formats/q6_k.c): super-blocks of 256 values in 16 sub-blocks of 16 with int8
// scales, an f16 d; 6-bit quants as low nibbles ql[128] and 2 high bits qh[64]. In each half n
// of 128 values, for l < 32: value l takes ql[l]'s low nibble and qh[l] bits 0-1, value l + 32
// ql[l + 32]'s low nibble and bits 2-3, value l + 64 ql[l]'s high nibble and bits 4-5, value
// l + 96 ql[l + 32]'s high nibble and bits 6-7 (ql, qh: the half's 64 and 32 bytes); sub-block
// l / 16 + 2 k for value l + 32 k. value = d sc (q - 32).
// Quants plane: ql, qh, then the 16 scales (13 vectors); meta plane: d (2 bytes a block).
// A unit is a half: 128 values.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 128u
#define FORMAT_QUANT_VECS 13u
#define FORMAT_META_BYTES 2u

struct weight_unit { uvec4 ql[4]; uvec4 qh[2]; float ds[8]; };  // ds: d sc of the half's sub-blocks

// A vector holds 8 blocks' d, but a group is the block's 2 units: larger groups leave
// invocations idle on rows of a few blocks.
#define FORMAT_META_GROUP 2u
#define FORMAT_SUB 16u  // values a scale

struct weight_meta { uvec4 v; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 16u)); }

// The scales sit in one vector of the quants plane, so no word index into a vector array:
// llvmpipe made per-lane scalar code of one that differed between invocations.
weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 2u, n = g % 2u;
    weight_unit u;
    for (uint i = 0u; i < 4u; i++) u.ql[i] = load_weight(set, b * 13u + 4u * n + i);
    u.qh[0] = load_weight(set, b * 13u + 8u + 2u * n);
    u.qh[1] = load_weight(set, b * 13u + 9u + 2u * n);
    uvec4 scales = load_weight(set, b * 13u + 12u);
    float d = vec_half(m.v, b % 8u);
    for (uint i = 0u; i < 2u; i++) {
        int s = int(vec_word(scales, 2u * n + i));
        for (uint k = 0u; k < 4u; k++) u.ds[4u * i + k] = d * float(bitfieldExtract(s, int(8u * k), 8));
    }
    return u;
}

vec4 format_qvec4(weight_unit u, uint j)
{
    uint k = j / 8u, v = j % 8u;  // values 32 k + 4 v .., of sub-block 2 k + v / 4
    uvec4 low = word_nibbles(u.ql[(k & 1u) * 2u + v / 4u][v % 4u], (k >> 1u) * 4u);
    uvec4 high = (word_bytes(u.qh[v / 4u][v % 4u]) >> (2u * k)) & 3u;
    return vec4(low | (high << 4u)) - 32.0;
}

float format_scale(weight_unit u, uint s) { return u.ds[s]; }
