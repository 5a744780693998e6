// Q5_K (host/formats/q5_k.c): Q4_K with a fifth bit per value: qh[32] holds, for byte l of
// each 64 values' chunk c, bit 2c (value l) and bit 2c + 1 (value l + 32).
// value = d sc q - dmin m. Quants plane: qh (32 bytes), then the 128 bytes of nibbles (10
// vectors); meta plane: d, dmin, the 12 scale bytes (16 bytes). A unit is 64 values.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 64u
#define FORMAT_QUANT_VECS 10u
#define FORMAT_META_BYTES 16u

struct weight_unit { uvec4 q[2]; uvec4 qh[2]; uint c; float d[2]; float m[2]; };

#define FORMAT_META_GROUP 4u  // the block's 4 units

struct weight_meta { uvec4 v; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 4u)); }

weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 4u, c = g % 4u;
    weight_unit u;
    u.c = c;
    u.qh[0] = load_weight(set, b * 10u);
    u.qh[1] = load_weight(set, b * 10u + 1u);
    u.q[0] = load_weight(set, b * 10u + 2u + 2u * c);
    u.q[1] = load_weight(set, b * 10u + 3u + 2u * c);
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
    uvec4 high = (word_bytes(u.qh[k / 4u][k % 4u]) >> (2u * u.c + h)) & 1u;
    vec4 q = vec4(word_nibbles(u.q[k / 4u][k % 4u], 4u * h) | (high << 4u));
    return u.d[h] * q - u.m[h];
}
