"""overhaul.knowledge"""
