"""overhaul.rollout"""
