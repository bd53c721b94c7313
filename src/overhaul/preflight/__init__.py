"""overhaul.preflight"""
