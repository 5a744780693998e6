// Weight access (matmul weights, embedding tables): binding 1 as f32, as f16 packed two per 32-bit word
// (WEIGHT_F16), or quantized (WEIGHT_QUANT: load_weight() for shaders/weight_format.glsl), read with unpackHalf2x16 so no 16-bit storage feature is needed; WEIGHT_TEXEL
// reads either through texels, with weight_at() only.
#if defined(WEIGHT_QUANT)
// Quantized weights (shaders/weight_format.glsl) from binding 1, through texels (WEIGHT_TEXEL)
// or a storage buffer, 16 bytes at a time; one weight matrix, so `set` is unused.
#if defined(WEIGHT_TEXEL)
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer w_texels;
uvec4 load_weight(uint set, uint v) { return imageLoad(w_texels, int(v)); }
#else
layout(binding = 1) readonly buffer Weights4 { uvec4 w4[]; };
uvec4 load_weight(uint set, uint v) { return w4[v]; }
#endif
#include "weight_format.glsl"
#elif defined(WEIGHT_TEXEL)
// Binding 1 as an RGBA32UI storage texel buffer (for CPU devices, vkl_device_prefers_texel_reads):
// element i is read from its 16-byte texel.
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer w_texels;
#ifdef WEIGHT_F16
float weight_at(uint i)
{
    uint word = imageLoad(w_texels, int(i / 8u))[(i / 2u) % 4u];
    vec2 pair = unpackHalf2x16(word);
    return (i & 1u) == 0u ? pair.x : pair.y;
}
#else
float weight_at(uint i) { return uintBitsToFloat(imageLoad(w_texels, int(i / 4u))[i % 4u]); }
#endif
#elif defined(WEIGHT_F16)
layout(binding = 1) readonly buffer Weights { uint w[]; };
layout(binding = 1) readonly buffer Weights4 { uvec4 w4[]; };  // eight halves per element
#define WEIGHT_VEC 8u
float weight_at(uint i)
{
    vec2 pair = unpackHalf2x16(w[i >> 1]);
    return (i & 1u) == 0u ? pair.x : pair.y;
}
#else
layout(binding = 1) readonly buffer Weights { float w[]; };
layout(binding = 1) readonly buffer Weights4 { vec4 w4[]; };
#define WEIGHT_VEC 4u
float weight_at(uint i) { return w[i]; }
#endif
