"""x17scan.reco"""
