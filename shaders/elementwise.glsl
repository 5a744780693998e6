// Body of the elementwise kernels (add, swiglu, gelu): y = elementwise_op(a[, b]). The
// includer defines ELEMENTWISE_BINARY for two inputs and, before including this, the
// function `float elementwise_op(float a[, float b])`. Bindings: 0 a · (1 b) · next y, f32.
//   default: one invocation per element, storage buffers;
//   TEXEL (CPU devices, n % 4 == 0): inputs read as RGBA32UI texels, which llvmpipe fetches
//     about 25x faster than storage buffers (it loads those lane by lane), and each invocation
//     takes ELEMENTWISE_TEXELS consecutive texels, a 64-byte line of output per lane.
#extension GL_EXT_control_flow_attributes : require
#include "elementwise.h"
#include "grid.glsl"

#ifdef ELEMENTWISE_BINARY
#define ELEMENTWISE_Y 2
#else
#define ELEMENTWISE_Y 1
#endif

layout(local_size_x = ELEMENTWISE_WG) in;
#ifdef TEXEL
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer a_texels;
#ifdef ELEMENTWISE_BINARY
layout(binding = 1, rgba32ui) uniform readonly uimageBuffer b_texels;
#endif
layout(binding = ELEMENTWISE_Y) writeonly buffer Y { vec4 y[]; };
#else
layout(binding = 0) readonly buffer A { float a[]; };
#ifdef ELEMENTWISE_BINARY
layout(binding = 1) readonly buffer B { float b[]; };
#endif
layout(binding = ELEMENTWISE_Y) writeonly buffer Y { float y[]; };
#endif

#ifdef TEXEL
vec4 texel_op(uint t)
{
    vec4 a = uintBitsToFloat(imageLoad(a_texels, int(t))), r;
#ifdef ELEMENTWISE_BINARY
    vec4 b = uintBitsToFloat(imageLoad(b_texels, int(t)));
    [[unroll]] for (uint c = 0; c < 4u; c++) r[c] = elementwise_op(a[c], b[c]);
#else
    [[unroll]] for (uint c = 0; c < 4u; c++) r[c] = elementwise_op(a[c]);
#endif
    return r;
}
#endif

void main()
{
    uint i = grid_index(pc.groups_x, ELEMENTWISE_WG);
#ifdef TEXEL
    [[unroll]] for (uint k = 0; k < ELEMENTWISE_TEXELS; k++) {
        uint t = i * ELEMENTWISE_TEXELS + k;
        if (t < pc.n / 4u) y[t] = texel_op(t);
    }
#elif defined(ELEMENTWISE_BINARY)
    if (i < pc.n) y[i] = elementwise_op(a[i], b[i]);
#else
    if (i < pc.n) y[i] = elementwise_op(a[i]);
#endif
}
