// Q4_K (host/formats/q4_k.c): super-blocks of 256 values in 8 sub-blocks of 32, each with a
// 6-bit scale and minimum (packed in 12 bytes), scaled by the f16 d and dmin; 4-bit quants,
// 32 bytes per 64 values (low nibbles: the first 32, high: the next 32). value = d sc q - dmin m.
// Quants plane: the 128 bytes (8 vectors); meta plane: d, dmin, the 12 scale bytes (16 bytes).
// A unit is 64 values: 32 bytes of quants and two sub-blocks' scales.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 64u
#define FORMAT_QUANT_VECS 8u
#define FORMAT_META_BYTES 16u

struct weight_unit { uvec4 q[2]; float d[2]; float m[2]; };  // d: d sc, m: dmin m, per half

#define FORMAT_META_GROUP 4u  // the block's 4 units

struct weight_meta { uvec4 v; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 4u)); }

weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 4u, c = g % 4u;
    weight_unit u;
    u.q[0] = load_weight(set, b * 8u + 2u * c);
    u.q[1] = load_weight(set, b * 8u + 2u * c + 1u);
    uvec4 meta = m.v;
    vec2 dmin = unpackHalf2x16(meta.x);
    for (uint h = 0u; h < 2u; h++) {
        uvec2 sm = k4_scale_min(meta.yzw, 2u * c + h);
        u.d[h] = dmin.x * float(sm.x);
        u.m[h] = dmin.y * float(sm.y);
    }
    return u;
}

vec4 format_vec4(weight_unit u, uint j)
{
    uint h = j / 8u, k = j % 8u;
    vec4 q = vec4(word_nibbles(u.q[k / 4u][k % 4u], 4u * h));
    return u.d[h] * q - u.m[h];
}
