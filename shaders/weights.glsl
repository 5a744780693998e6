// Weight access (matmul weights, embedding tables): binding 1 as f32, or as f16 packed two per 32-bit word
// (WEIGHT_F16), read with unpackHalf2x16 so no 16-bit storage feature is needed.
#ifdef WEIGHT_F16
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
