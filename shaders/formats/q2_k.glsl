// Q2_K (host/formats/q2_k.c): super-blocks of 256 values in 16 sub-blocks of 16, each with a
// 4-bit scale and a 4-bit minimum in one byte, scaled by the f16 d and dmin; 2-bit quants, 4 to
// a byte. In each half n of 128 values: value 32 j + l (l < 32) is bits 2j of byte l of the
// half's 32 quant bytes, sub-block 2 j + l / 16 of the half's 8. value = d sc q - dmin m.
// Quants plane: the 64 bytes, then the 16 scale bytes (5 vectors); meta plane: d, dmin (4 bytes).
// A unit is a half: 128 values.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 128u
#define FORMAT_QUANT_VECS 5u
#define FORMAT_META_BYTES 4u

struct weight_unit { uvec4 q[2]; float d[8]; float m[8]; };

// A vector holds 4 blocks' (d, dmin), but a group is the block's 2 units: larger groups leave
// invocations idle on rows of a few blocks (16 units: 2 groups of a 4096-value row for 8).
#define FORMAT_META_GROUP 2u

struct weight_meta { uvec4 v; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 8u)); }

// The scales sit in one vector of the quants plane, so no word index into a vector array:
// llvmpipe made per-lane scalar code of one that differed between invocations.
weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 2u, n = g % 2u;
    weight_unit u;
    u.q[0] = load_weight(set, b * 5u + 2u * n);
    u.q[1] = load_weight(set, b * 5u + 2u * n + 1u);
    uvec4 scales = load_weight(set, b * 5u + 4u);
    vec2 dmin = unpackHalf2x16(vec_word(m.v, b % 4u));
    for (uint i = 0u; i < 2u; i++) {
        uvec4 sc = word_bytes(vec_word(scales, 2u * n + i));
        for (uint k = 0u; k < 4u; k++) {
            u.d[4u * i + k] = dmin.x * float(sc[k] & 15u);
            u.m[4u * i + k] = dmin.y * float(sc[k] >> 4u);
        }
    }
    return u;
}

vec4 format_vec4(weight_unit u, uint j)
{
    uint s = j / 8u, v = j % 8u;  // values 32 s + 4 v ..
    uint sub = 2u * s + v / 4u;
    vec4 q = vec4((word_bytes(u.q[v / 4u][v % 4u]) >> (2u * s)) & 3u);
    return u.d[sub] * q - u.m[sub];
}
