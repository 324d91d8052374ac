"""Statistics on scan tables: likelihoods, batched fits, CLs limits, significance, LEE,
sensitivity. Never imports ``sim`` or ``reco``: data reach it only as a ScanTable."""
