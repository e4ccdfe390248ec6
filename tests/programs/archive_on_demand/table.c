/* Archive member pulled by a data reference. */
const int calc_table[5] = {10, 20, 30, 40, 50};
