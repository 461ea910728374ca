/* Giving back resident pages the daemon will not need again. */
#ifndef TRIM_H
#define TRIM_H

/*
 * Unmaps the pages of read-only file mappings (libc, the loader, our own
 * text) from this process. They are page-cache pages, still shared with
 * every other process; those the loop uses fault straight back in.
 */
void	trim_file_pages(void);
/*
 * Gives free heap pages back to the kernel. glibc keeps them mapped when
 * live blocks sit above them; musl has no malloc_trim (and returns large
 * frees by itself), so there this does nothing.
 */
void	trim_heap(void);

#endif
