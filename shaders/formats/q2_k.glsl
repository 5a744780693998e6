// Q2_K (host/formats/q2_k.c): super-blocks of 256 values in 16 sub-blocks of 16, each with a
// 4-bit scale and a 4-bit minimum in one byte, scaled by the f16 d and dmin; 2-bit quants, 4 to
// a byte. In each half n of 128 values: value 32 j + l (l < 32) is bits 2j of byte l of the
// half's 32 quant bytes, sub-block 2 j + l / 16 of the half's 8. value = d sc q - dmin m.
// Quants plane: the 64 bytes (4 vectors); meta plane: the 16 scale bytes, d, dmin (20 bytes).
// A unit is a half: 128 values.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 128u
#define FORMAT_QUANT_VECS 4u
#define FORMAT_META_BYTES 20u

struct weight_unit { uvec4 q[2]; float d[8]; float m[8]; };

#define FORMAT_META_GROUP 2u  // the block's 2 units

#define weight_meta meta20  // block b's 20 bytes (shaders/weight_format.glsl)
weight_meta format_meta(uint set, uint meta_base, uint g) { return fetch_meta20(set, meta_base, g / 2u); }

weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 2u, n = g % 2u, meta = m.at;
    weight_unit u;
    u.q[0] = load_weight(set, b * 4u + 2u * n);
    u.q[1] = load_weight(set, b * 4u + 2u * n + 1u);
    vec2 dmin = unpackHalf2x16(VECS_WORD(m.v, meta + 4u));
    for (uint i = 0u; i < 2u; i++) {
        uvec4 sc = word_bytes(VECS_WORD(m.v, meta + 2u * n + i));
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
