"""x17scan.beam"""
