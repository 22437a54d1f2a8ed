"""What the pipeline's results become: text, hOCR, Label Studio, ALTO, PAGE, and overlays (PNG, SVG)."""
