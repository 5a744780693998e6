// Q5_0 (host/formats/q5_0.c): as Q4_0 with a fifth bit per value, bit i of the 32-bit qh for
// value i; value = d (q - 16).
// Quants plane: the 16 bytes of low nibbles (1 vector); meta plane: qh, then d (8 bytes a block).
#define FORMAT_BLOCK 32u
#define FORMAT_UNIT 32u
#define FORMAT_QUANT_VECS 1u
#define FORMAT_META_BYTES 8u

#define FORMAT_META_GROUP 2u  // 2 blocks' meta a vector
#define FORMAT_SUB 32u  // values a scale: the block

struct weight_meta { uvec4 v; };
struct weight_unit { uvec4 q; uint qh; float d; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 2u)); }

weight_unit format_load(uint set, weight_meta meta, uint g)
{
    weight_unit u;
    u.q = load_weight(set, g);
    u.qh = vec_word(meta.v, 2u * (g % 2u));
    u.d = vec_half(meta.v, 4u * (g % 2u) + 2u);
    return u;
}

vec4 format_qvec4(weight_unit u, uint j)
{
    uint h = u.qh >> (4u * j);
    uvec4 q = word_nibbles(u.q[j % 4u], j < 4u ? 0u : 4u) | ((uvec4(h, h >> 1u, h >> 2u, h >> 3u) & 1u) << 4u);
    return vec4(q) - 16.0;
}

float format_scale(weight_unit u, uint s) { return u.d; }
