// Q8_0 (host/formats/q8_0.c): blocks of 32 int8 quants q and an f16 scale d; value = d q.
// Quants plane: the 32 quants (2 vectors); meta plane: d (2 bytes a block, two to a word).
#define FORMAT_BLOCK 32u
#define FORMAT_UNIT 32u
#define FORMAT_QUANT_VECS 2u
#define FORMAT_META_BYTES 2u

#define FORMAT_META_GROUP 8u  // 8 scales a vector
#define FORMAT_SUB 32u  // values a scale: the block

struct weight_meta { uvec4 v; };
struct weight_unit { uvec4 q[2]; float d; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 8u)); }

weight_unit format_load(uint set, weight_meta meta, uint g)
{
    weight_unit u;
    u.q[0] = load_weight(set, 2u * g);
    u.q[1] = load_weight(set, 2u * g + 1u);
    u.d = vec_half(meta.v, g % 8u);
    return u;
}

vec4 format_qvec4(weight_unit u, uint j)
{
    int w = int(u.q[j / 4u][j % 4u]);
    return vec4(bitfieldExtract(w, 0, 8), bitfieldExtract(w, 8, 8), bitfieldExtract(w, 16, 8), w >> 24);
}

float format_scale(weight_unit u, uint s) { return u.d; }
