// C++ with exceptions and the standard library: .eh_frame, .gcc_except_table, personality
// routine, typeinfo and vtables from libstdc++, std::string and std::vector, and a global
// object whose constructor and destructor run around main.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct Noisy {
    std::string name;
    explicit Noisy(std::string n) : name(std::move(n)) { std::printf("construct %s\n", name.c_str()); }
    ~Noisy() { std::printf("destroy %s\n", name.c_str()); }
};

static Noisy global_object("global");

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};
struct Square : Shape {
    double side;
    explicit Square(double s) : side(s) {}
    double area() const override { return side * side; }
};

static int parse_positive(const std::string &text)
{
    int value = std::stoi(text);
    if (value <= 0)
        throw std::out_of_range("not positive: " + text);
    return value;
}

int main()
{
    std::vector<std::string> inputs = {"12", "-4", "x", "7"};
    int total = 0;
    for (const auto &text : inputs) {
        Noisy guard("guard " + text);
        try {
            total += parse_positive(text);
        } catch (const std::out_of_range &e) {
            std::printf("out_of_range: %s\n", e.what());
        } catch (const std::exception &e) {
            std::printf("exception: %s\n", e.what());
        }
    }
    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Square>(1.5));
    shapes.push_back(std::make_unique<Square>(2.0));
    double area = 0;
    for (const auto &s : shapes)
        area += s->area();
    std::printf("total %d, area %.2f\n", total, area);
    return total == 19 ? 0 : 1;
}
