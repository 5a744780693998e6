// Q3_K (host/formats/q3_k.c): super-blocks of 256 values in 16 sub-blocks of 16 with 6-bit
// scales (packed in 12 bytes, offset by 32), an f16 d; 2 low bits as Q2_K's, and a high bit in
// hmask[32]: value 128 n + 32 j + l has bit 4 n + j of hmask[l]; a clear bit subtracts 4.
// value = d (sc - 32) (q - (h ? 0 : 4)). Quants plane: hmask, then the 64 quant bytes (6
// vectors); meta plane: the 12 scale bytes, d (16 bytes). A unit is a half: 128 values.
#define FORMAT_BLOCK 256u
#define FORMAT_UNIT 128u
#define FORMAT_QUANT_VECS 6u
#define FORMAT_META_BYTES 16u

struct weight_unit { uvec4 q[2]; uvec4 hm[2]; uint n; float d[8]; };

// The half's 8 scales (of 16: ggml unpacks the 12 bytes into four words a0 .. a3 of 4 each).
void q3k_scales(uvec4 meta, uint n, float d, inout float ds[8])
{
    const uint low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    uint tmp = meta.z, shift = 4u * n;
    uint a = ((meta.x >> shift) & low4) | (((tmp >> shift) & low2) << 4u);
    uint c = ((meta.y >> shift) & low4) | (((tmp >> (shift + 2u)) & low2) << 4u);
    uvec4 sa = word_bytes(a), sc = word_bytes(c);
    for (uint k = 0u; k < 4u; k++) {
        ds[k] = d * float(int(sa[k]) - 32);
        ds[4u + k] = d * float(int(sc[k]) - 32);
    }
}

#define FORMAT_META_GROUP 2u  // the block's 2 units
#define FORMAT_SUB 16u  // values a scale

struct weight_meta { uvec4 v; };

weight_meta format_meta(uint set, uint meta_base, uint g) { return weight_meta(load_weight(set, meta_base / 4u + g / 2u)); }

weight_unit format_load(uint set, weight_meta m, uint g)
{
    uint b = g / 2u, n = g % 2u;
    weight_unit u;
    u.n = n;
    u.hm[0] = load_weight(set, b * 6u);
    u.hm[1] = load_weight(set, b * 6u + 1u);
    u.q[0] = load_weight(set, b * 6u + 2u + 2u * n);
    u.q[1] = load_weight(set, b * 6u + 3u + 2u * n);
    uvec4 meta = m.v;
    q3k_scales(meta, n, unpackHalf2x16(meta.w).x, u.d);
    return u;
}

vec4 format_qvec4(weight_unit u, uint j)
{
    uint s = j / 8u, v = j % 8u;  // values 32 s + 4 v .., of sub-block 2 s + v / 4
    vec4 q = vec4((word_bytes(u.q[v / 4u][v % 4u]) >> (2u * s)) & 3u);
    uvec4 h = (word_bytes(u.hm[v / 4u][v % 4u]) >> (4u * u.n + s)) & 1u;
    return q - 4.0 * vec4(1u - h);
}

float format_scale(weight_unit u, uint s) { return u.d[s]; }
