#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
//! variant read -DPEAK_READ
//! variant read_blocked -DPEAK_READ -DPEAK_BLOCKED
//! variant read_texel -DPEAK_READ -DPEAK_TEXEL
//! variant copy -DPEAK_COPY
//! variant fma_f32 -DPEAK_FMA_F32
//! variant fma_f16 -DPEAK_FMA_F16
// Device peaks (host/peaks.c). Bindings: 0 src (vec4) · 1 dst (vec4).
//   read: each invocation sums per_item vec4s at a stride of the invocation count (coalesced,
//         for GPUs) or, blocked, a contiguous run of them (for CPU devices, whose threads run
//         whole workgroups), and writes one vec4, so the reads cannot be optimised away;
//         read_texel reads through an RGBA32UI storage texel buffer (the path that CPU devices
//         read fastest, see vkl_device_prefers_texel_reads), each subgroup one contiguous run
//         with its invocations side by side (llvmpipe runs a subgroup as one SIMD vector), as
//         8 interleaved streams (one stream per core leaves DRAM bandwidth unused);
//   copy: dst[i] = src[i];
//   fma:  PEAK_FMA_CHAINS independent vec4 FMA chains per invocation, PEAK_FMA_ITERS x 8 deep.
#ifdef PEAK_FMA_F16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#ifdef PEAK_TEXEL
#extension GL_KHR_shader_subgroup_basic : require
#endif
#include "peak.h"
#include "grid.glsl"

layout(local_size_x = PEAK_WG) in;
#ifdef PEAK_TEXEL
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer src_texels;
#define SRC(j) uintBitsToFloat(imageLoad(src_texels, int(j)))
#else
layout(binding = 0) readonly buffer Src { vec4 src[]; };
#define SRC(j) src[j]
#endif
layout(binding = 1) writeonly buffer Dst { vec4 dst[]; };

#if defined(PEAK_FMA_F32)
#define FTYPE vec4
#define CAST(x) vec4(x)
#elif defined(PEAK_FMA_F16)
#define FTYPE f16vec4
#define CAST(x) f16vec4(x)
#endif

void main()
{
    uint i = grid_index(pc.groups_x, PEAK_WG);
#if defined(PEAK_READ)
    if (i >= pc.invocations) return;
    vec4 acc = vec4(0.0);
#ifdef PEAK_TEXEL  // each subgroup: one contiguous run, read as 8 interleaved streams
    uint run = pc.per_item * gl_SubgroupSize, part = run / 8u;
    uint base = ((i / PEAK_WG) * gl_NumSubgroups + gl_SubgroupID) * run + gl_SubgroupInvocationID;
    for (uint k = 0; k < pc.per_item / 8u; k++) {
        [[unroll]] for (uint s = 0; s < 8u; s++) {
            uint j = base + s * part + k * gl_SubgroupSize;
            if (j < pc.n) acc += SRC(j);
        }
    }
#else
    for (uint k = 0; k < pc.per_item; k++) {
#ifdef PEAK_BLOCKED
        uint j = i * pc.per_item + k;
#else
        uint j = k * pc.invocations + i;
#endif
        if (j < pc.n) acc += SRC(j);
    }
#endif
    dst[i] = acc;
#elif defined(PEAK_COPY)
    if (i < pc.n) dst[i] = src[i];
#else
    if (i >= pc.invocations) return;
    // Values stay bounded: x * 0.999 + 0.001 converges to 1.
    FTYPE a = CAST(SRC(i % 64u)), m = CAST(0.999), c = CAST(0.001);
    FTYPE acc[PEAK_FMA_CHAINS];
    [[unroll]] for (uint k = 0; k < PEAK_FMA_CHAINS; k++) acc[k] = a + CAST(float(k));
    for (uint it = 0; it < PEAK_FMA_ITERS; it++) {
        [[unroll]] for (uint r = 0; r < 8; r++) {
            [[unroll]] for (uint k = 0; k < PEAK_FMA_CHAINS; k++) acc[k] = fma(acc[k], m, c);
        }
    }
    FTYPE sum = CAST(0.0);
    [[unroll]] for (uint k = 0; k < PEAK_FMA_CHAINS; k++) sum += acc[k];
    dst[i] = vec4(sum);
#endif
}
