"""The judge: hidden tests run in the grader's process, asking the student's kernel only for answers.

``cells`` reads a test cell's hidden region and runs its checks; ``remote`` holds the conversation with
the kernel, where ``agent`` answers. See autograder/SECURITY.md for why and how.
"""
