#version 450
#extension GL_GOOGLE_include_directive : require
// SwiGLU gate: y = silu(gate) * up = gate / (1 + exp(-gate)) * up, elementwise.
// Bindings: 0 gate (n) · 1 up (n) · 2 y (n), all f32.
//! variant default
//! variant texel -DTEXEL
#define ELEMENTWISE_BINARY
// exp overflow to +inf gives g / inf = 0, the limit.
float elementwise_op(float g, float u) { return g / (1.0 + exp(-g)) * u; }
#include "elementwise.glsl"
