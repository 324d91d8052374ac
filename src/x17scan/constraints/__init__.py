"""x17scan.constraints"""
