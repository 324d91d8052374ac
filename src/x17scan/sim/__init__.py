"""x17scan.sim"""
