"""overhaul.cli"""
