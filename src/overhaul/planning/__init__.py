"""overhaul.planning"""
