// Reads of the KV cache at bindings 1 (K) and 2 (V): f32, or f16 packed two per word (KV_F16).
#ifdef KV_F16
layout(binding = 1) readonly buffer KCache { uint k_cache[]; };
layout(binding = 2) readonly buffer VCache { uint v_cache[]; };
float half_at(uint word, uint i)
{
    vec2 pair = unpackHalf2x16(word);
    return (i & 1u) == 0u ? pair.x : pair.y;
}
float load_k(uint i) { return half_at(k_cache[i >> 1], i); }
float load_v(uint i) { return half_at(v_cache[i >> 1], i); }
#else
layout(binding = 1) readonly buffer KCache { float k_cache[]; };
layout(binding = 2) readonly buffer VCache { float v_cache[]; };
float load_k(uint i) { return k_cache[i]; }
float load_v(uint i) { return v_cache[i]; }
#endif
