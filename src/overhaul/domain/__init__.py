"""overhaul.domain"""
