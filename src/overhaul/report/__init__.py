"""overhaul.report"""
