"""overhaul.engine"""
