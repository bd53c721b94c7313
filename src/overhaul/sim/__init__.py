"""overhaul.sim"""
