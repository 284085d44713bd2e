"""Gated tools for agent frameworks: ``gatehouse.integrations.openai_agents``
(the OpenAI Agents SDK) and ``gatehouse.integrations.langgraph`` (LangGraph).

Each module imports its framework, so import the one you use.
"""
