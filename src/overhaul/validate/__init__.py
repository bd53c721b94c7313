"""overhaul.validate"""
