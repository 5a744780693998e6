// Q4_0 (host/formats/q4_0.c): blocks of 32 values, an f16 scale d and 16 bytes of 4-bit quants:
// byte i holds value i (low nibble) and value i + 16 (high); value = d (q - 8).
// Quants plane: the 16 bytes (1 vector); meta plane: d (2 bytes a block).
#define FORMAT_BLOCK 32u
#define FORMAT_UNIT 32u
#define FORMAT_QUANT_VECS 1u
#define FORMAT_META_BYTES 2u

#define FORMAT_META_GROUP 8u  // 8 scales a vector
#define FORMAT_SUB 32u  // values a scale: the block

struct weight_meta { uvec4 v; };
struct weight_unit { uvec4 q; float d; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 8u)); }

weight_unit format_load(uint set, weight_meta meta, uint g)
{
    weight_unit u;
    u.q = load_weight(set, g);
    u.d = vec_half(meta.v, g % 8u);
    return u;
}

// q - 8 as the nibble with its top bit flipped, read as a signed 4-bit number: no subtraction.
vec4 format_qvec4(weight_unit u, uint j)
{
    int w = int(u.q[j % 4u] ^ 0x88888888u), at = j < 4u ? 0 : 4;
    return vec4(bitfieldExtract(w, at, 4), bitfieldExtract(w, at + 8, 4), bitfieldExtract(w, at + 16, 4),
                bitfieldExtract(w, at + 24, 4));
}

float format_scale(weight_unit u, uint s) { return u.d; }
