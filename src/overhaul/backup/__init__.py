"""overhaul.backup"""
