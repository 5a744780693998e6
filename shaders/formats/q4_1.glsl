// Q4_1 (host/formats/q4_1.c): as Q4_0 with an f16 minimum m: value = d q + m.
// Quants plane: the 16 bytes (1 vector); meta plane: d and m (one word a block).
#define FORMAT_BLOCK 32u
#define FORMAT_UNIT 32u
#define FORMAT_QUANT_VECS 1u
#define FORMAT_META_BYTES 4u

#define FORMAT_META_GROUP 4u  // 4 (d, m) pairs a vector

struct weight_meta { uvec4 v; };
struct weight_unit { uvec4 q; vec2 dm; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 4u)); }

weight_unit format_load(uint set, weight_meta meta, uint g)
{
    weight_unit u;
    u.q = load_weight(set, g);
    u.dm = unpackHalf2x16(vec_word(meta.v, g % 4u));
    return u;
}

vec4 format_vec4(weight_unit u, uint j)
{
    vec4 q = vec4(word_nibbles(u.q[j % 4u], j < 4u ? 0u : 4u));
    return q * u.dm.x + u.dm.y;
}
