#version 450
#extension GL_GOOGLE_include_directive : require
// Argmax over rows, ties to the lower index (greedy sampling). One workgroup per row.
// Bindings: 0 x (M, N) f32 · 1 index (M) u32.
#include "rows.h"
#define REDUCE_WORKGROUP_SIZE ROWS_WG
#include "reduce.glsl"

layout(local_size_x = ROWS_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Index { uint index[]; };

shared uint lowest[ROWS_WG];  // one per subgroup

void main()
{
    uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.M) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x, base = row * pc.N;
    // Each invocation scans increasing indices and keeps the first of its maxima.
    float best = -3.4028235e38;
    uint best_index = 0xFFFFFFFFu;
    for (uint i = tid; i < pc.N; i += ROWS_WG) {
        float v = x[base + i];
        if (v > best || best_index == 0xFFFFFFFFu) { best = v; best_index = i; }
    }
    float row_max = workgroup_max(best);
    uint candidate = subgroupMin(best == row_max ? best_index : 0xFFFFFFFFu);
    if (subgroupElect()) lowest[gl_SubgroupID] = candidate;
    barrier();
    uint result = 0xFFFFFFFFu;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) result = min(result, lowest[i]);
    result = subgroupMin(result);
    if (tid == 0u) index[row] = result;
}
