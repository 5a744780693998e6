// The architectures vkllm runs: one line each, its description in host/archs/<name>.c.
VKL_ARCH(llama)
VKL_ARCH(gpt2)
VKL_ARCH(qwen2)
VKL_ARCH(qwen3)
VKL_ARCH(phi3)
VKL_ARCH(deepseek2)
