"""Foundation models: specs and client, the sandbox gateway, the ledger, vLLM, a scripted model.

Submodules import lazily; `agentforge.llm.scripted` is standalone (standard library only).
"""
