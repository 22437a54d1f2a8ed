"""Running the pipeline over many images: concurrent stages in one process, resumable results files, Ray Data."""
