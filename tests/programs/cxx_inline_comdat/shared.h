// Inline and template definitions every object instantiates (COMDAT groups).
#pragma once

inline int next_id()
{
    static int counter = 100; // one counter for the whole program
    return ++counter;
}

template <typename T> struct Box {
    T value;
    explicit Box(T v) : value(v) {}
    T doubled() const { return value + value; }
};

template <typename T> struct Max {
    static T of(T a, T b) { return a < b ? b : a; }
};

template <typename T> T sum_of(int n)
{
    T total = 0;
    for (int i = 1; i <= n; i++)
        total += static_cast<T>(i);
    return total;
}
