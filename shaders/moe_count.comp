#version 450
#extension GL_GOOGLE_include_directive : require
// MoE token lists: one workgroup builds counts, offsets, perm, inv, the tile map and the mean
// router probabilities (see moe.h). Ranks within an expert follow entry order, so the lists
// are deterministic; T * k is at most a few thousand per batch, one pass each.
// Bindings: 0 ids (T*k) u32 · 1 probs (T, E) f32 · 2 counts (E) u32 · 3 offsets (E+1) u32 ·
// 4 perm (T*k) u32 · 5 inv (T*k) u32 · 6 tiles (max_tiles, 2) u32 · 7 prob_mean (E) f32.
#include "moe.h"

layout(local_size_x = MOE_WG) in;
layout(binding = 0) readonly buffer Ids { uint ids[]; };
layout(binding = 1) readonly buffer Probs { float probs[]; };
layout(binding = 2) writeonly buffer Counts { uint counts[]; };
layout(binding = 3) writeonly buffer Offsets { uint offsets[]; };
layout(binding = 4) writeonly buffer Perm { uint perm[]; };
layout(binding = 5) buffer Inv { uint inv[]; };
layout(binding = 6) writeonly buffer Tiles { uint tiles[]; };
layout(binding = 7) writeonly buffer ProbMean { float prob_mean[]; };

shared uint count[MOE_MAX_EXPERTS];
shared uint offset[MOE_MAX_EXPERTS + 1u];
shared uint chunk[MOE_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, n = pc.T * pc.k;
    for (uint e = tid; e < pc.E; e += MOE_WG) count[e] = 0u;
    barrier();
    // Rank of each entry among the earlier entries of its expert: the count so far plus the
    // earlier entries of the same expert in this chunk.
    for (uint c0 = 0u; c0 < n; c0 += MOE_WG) {
        uint i = c0 + tid, e = i < n ? ids[i] : MOE_NO_TILE;
        chunk[tid] = e;
        barrier();
        uint rank = 0u;  // over the chunk's entries only: a decode step has k of them, not MOE_WG
        for (uint j = 0u; j < min(tid, n - c0); j++) rank += chunk[j] == e ? 1u : 0u;
        if (i < n) inv[i] = count[e] + rank;
        barrier();
        if (i < n) atomicAdd(count[e], 1u);
        barrier();
    }
    if (tid == 0u) {
        offset[0] = 0u;
        for (uint e = 0u; e < pc.E; e++) offset[e + 1u] = offset[e] + count[e];
        uint tile = 0u;
        for (uint e = 0u; e < pc.E; e++) {
            for (uint r = offset[e]; r < offset[e + 1u]; r += pc.tile_rows) {
                tiles[2u * tile] = e;
                tiles[2u * tile + 1u] = r;
                tile++;
            }
        }
        for (; tile < pc.max_tiles; tile++) {
            tiles[2u * tile] = MOE_NO_TILE;
            tiles[2u * tile + 1u] = 0u;
        }
    }
    barrier();
    for (uint e = tid; e <= pc.E; e += MOE_WG) offsets[e] = offset[e];
    for (uint c0 = 0u; c0 < n; c0 += MOE_WG) {  // same entry per invocation as above
        uint i = c0 + tid;
        if (i >= n) continue;
        uint r = offset[ids[i]] + inv[i];
        inv[i] = r;
        perm[r] = i;
    }
    for (uint e = tid; e < pc.E; e += MOE_WG) {
        counts[e] = count[e];
        float sum = 0.0;
        for (uint t = 0u; t < pc.T; t++) sum += probs[t * pc.E + e];
        prob_mean[e] = sum / float(pc.T);
    }
}
