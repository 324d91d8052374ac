"""x17scan.report"""
