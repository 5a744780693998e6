#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Multi-head latent attention, first pass: one chunk of keys per workgroup (see attention_mla.h).
//! variant f32
#include "attention_mla.h"
#define REDUCE_WORKGROUP_SIZE MLA_WG
#include "reduce.glsl"

layout(local_size_x = MLA_WG) in;
layout(binding = 0) readonly buffer QLat { vec4 q_lat[]; };
layout(binding = 1) readonly buffer QRope { vec4 q_rope[]; };
layout(binding = 2) readonly buffer Latent { vec4 latent[]; };
layout(binding = 3) readonly buffer RopeKey { vec4 rope_key[]; };
layout(binding = 4) readonly buffer Pos { uint pos[]; };
layout(binding = 6) writeonly buffer Partials { float partials[]; };

#define MLA_COLUMNS (MLA_LMAX / 4u / MLA_WG)  // 4-value output columns per invocation

shared vec4 q_s[(MLA_LMAX + MLA_RMAX) / 4u];  // the query, pre-scaled: latent part, then RoPE part
shared float p_s[MLA_WG];                     // the current tile's weights

// scale (a . c_t + b . r_t) for key t.
float score(uint t, uint l4, uint r4)
{
    vec4 s = vec4(0.0);
    for (uint i = 0; i < l4; i++) s += q_s[i] * latent[t * l4 + i];
    for (uint i = 0; i < r4; i++) s += q_s[l4 + i] * rope_key[t * r4 + i];
    return (s.x + s.y) + (s.z + s.w);
}

void main()
{
    uint h = gl_WorkGroupID.x, m = gl_WorkGroupID.y, chunk = gl_WorkGroupID.z, lid = gl_LocalInvocationID.x;
    uint l4 = pc.L / 4u, r4 = pc.R / 4u, row = m * pc.H + h;
    uint first = chunk * pc.chunk, last = min(pos[0] + m, first + pc.chunk - 1u);  // keys first .. last
    for (uint i = lid; i < l4; i += MLA_WG) q_s[i] = q_lat[row * l4 + i] * pc.scale;
    for (uint i = lid; i < r4; i += MLA_WG) q_s[l4 + i] = q_rope[row * r4 + i] * pc.scale;
    barrier();
    float run_max = MLA_MASKED, run_sum = 0.0;
    vec4 acc[MLA_COLUMNS];
    [[unroll]] for (uint k = 0; k < MLA_COLUMNS; k++) acc[k] = vec4(0.0);
    for (uint t0 = first; t0 <= last; t0 += MLA_WG) {  // uniform: `first` and `last` are the workgroup's
        uint t = t0 + lid;
        float s = t <= last ? score(t, l4, r4) : MLA_MASKED;
        float new_max = max(run_max, workgroup_max(s));
        float p = t <= last ? exp(s - new_max) : 0.0;
        float alpha = exp(run_max - new_max);  // 0 on the first tile, whose running values are 0
        run_sum = run_sum * alpha + workgroup_sum(p);
        p_s[lid] = p;
        barrier();
        uint n = min(MLA_WG, last + 1u - t0);
        [[unroll]] for (uint k = 0; k < MLA_COLUMNS; k++) {
            uint col = lid + k * MLA_WG;
            if (col < l4) {
                vec4 a = acc[k] * alpha;
                for (uint j = 0; j < n; j++) a += p_s[j] * latent[(t0 + j) * l4 + col];
                acc[k] = a;
            }
        }
        barrier();  // p_s is rewritten by the next tile
        run_max = new_max;
    }
    uint base = (row * pc.chunks + chunk) * (pc.L + 2u);  // chunks past `last` write sum 0
    [[unroll]] for (uint k = 0; k < MLA_COLUMNS; k++) {
        uint col = lid + k * MLA_WG;
        if (col < l4) {
            partials[base + 4u * col] = acc[k].x;
            partials[base + 4u * col + 1u] = acc[k].y;
            partials[base + 4u * col + 2u] = acc[k].z;
            partials[base + 4u * col + 3u] = acc[k].w;
        }
    }
    if (lid == 0u) {
        partials[base + pc.L] = run_max;
        partials[base + pc.L + 1u] = run_sum;
    }
}
