"""overhaul.providers"""
