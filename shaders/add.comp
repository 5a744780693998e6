#version 450
#extension GL_GOOGLE_include_directive : require
// Residual add: y = a + b, elementwise. Bindings: 0 a (n) · 1 b (n) · 2 y (n), all f32;
// y may alias a (each invocation reads its elements before writing them).
//! variant default
//! variant texel -DTEXEL
#define ELEMENTWISE_BINARY
float elementwise_op(float a, float b) { return a + b; }
#include "elementwise.glsl"
