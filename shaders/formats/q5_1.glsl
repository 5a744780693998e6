// Q5_1 (host/formats/q5_1.c): as Q5_0 without the offset, with an f16 minimum m: value = d q + m.
// Quants plane: the 16 bytes of low nibbles (1 vector); meta plane: qh, then d and m (8 bytes).
#define FORMAT_BLOCK 32u
#define FORMAT_UNIT 32u
#define FORMAT_QUANT_VECS 1u
#define FORMAT_META_BYTES 8u

#define FORMAT_META_GROUP 2u  // 2 blocks' meta a vector

struct weight_meta { uvec4 v; };
struct weight_unit { uvec4 q; uint qh; vec2 dm; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 2u)); }

weight_unit format_load(uint set, weight_meta meta, uint g)
{
    weight_unit u;
    u.q = load_weight(set, g);
    u.qh = vec_word(meta.v, 2u * (g % 2u));
    u.dm = unpackHalf2x16(vec_word(meta.v, 2u * (g % 2u) + 1u));
    return u;
}

vec4 format_vec4(weight_unit u, uint j)
{
    uint h = u.qh >> (4u * j);
    uvec4 q = word_nibbles(u.q[j % 4u], j < 4u ? 0u : 4u) | ((uvec4(h, h >> 1u, h >> 2u, h >> 3u) & 1u) << 4u);
    return vec4(q) * u.dm.x + u.dm.y;
}
